"""Every default that the settings, the Allegro clients and the Dagster resources share.

Written once here so that a client built without settings (a test, a benchmark) and a Dagster
resource configured by hand behave like the product with nothing set.
"""

from __future__ import annotations

# HTTP behaviour towards Allegro.
HTTP_TIMEOUT_SECONDS = 30.0  # one attempt
MAX_ATTEMPTS = 6  # per request, retries included
MAX_RETRY_SECONDS = 120.0  # total retry budget per request
FETCH_CONCURRENCY = 4  # customers fetched at once

# The statistics API's rules.
MAX_RANGE_DAYS = 31  # longest window; assumed by allegro-api.md, a setting, not a law
HISTORY_DAYS = 730  # "not older than 2 years"

# Tokens.
REFRESH_MARGIN_SECONDS = 600  # refresh an access token this long before it expires
REFRESH_TOKEN_DAYS = 90  # allegro-api.md: "about 3 months (assumed 90 days)"
