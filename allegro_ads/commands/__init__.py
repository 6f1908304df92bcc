"""The ``allegro-ads`` sub-commands, one module each (``register`` adds its parser)."""
