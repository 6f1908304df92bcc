"""One module per control-store schema revision."""
