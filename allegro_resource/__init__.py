"""Talking to Allegro: OAuth, transport, agency and seller clients, tokens, the Dagster resource."""
