"""Tests of the portal's supporting pieces (its SVG charts)."""
