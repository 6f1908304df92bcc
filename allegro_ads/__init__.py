"""Shared configuration and the command line of Allegro Ads Manager."""
