"""Every default that the settings, the Allegro clients and the Dagster resources share.

Written once here so that a client built without settings (a test, a benchmark) and a Dagster
resource configured by hand behave like the product with nothing set.
"""

from __future__ import annotations

from typing import Final, Literal

TypesStyle = Literal["repeated", "comma"]
RatioUnits = Literal["fraction", "percent"]

# HTTP behaviour towards Allegro.
HTTP_TIMEOUT_SECONDS = 30.0  # one attempt
MAX_ATTEMPTS = 6  # per request, retries included
MAX_RETRY_SECONDS = 120.0  # total retry budget per request
FETCH_CONCURRENCY = 4  # customers fetched at once

# The statistics API's rules.
MAX_RANGE_DAYS = 31  # longest window; assumed by allegro-api.md, a setting, not a law
HISTORY_DAYS = 730  # "not older than 2 years"
# How ``types`` is sent: "repeated" (types=A&types=B) or "comma" (types=A,B); public agency code
# sends both and the API accepts both (allegro-api.md), so this is a setting, not a law.
STATS_TYPES_STYLE: Final = "repeated"
# The time zone whose calendar days Allegro reports in (allegro-api.md: Europe/Warsaw, assumed):
# "today" (never served), yesterday (the newest partition) and the 2-year floor follow it.
REPORTING_TIMEZONE = "Europe/Warsaw"
# Whether Allegro's ``ctr`` and ``rateOfReturn`` are fractions (0.025) or percentages (2.5):
# undocumented, assumed fractions. Only the check comparing them with our own ratios uses it.
API_RATIO_UNITS: Final = "fraction"

# Rate limit: past 9,000 requests a minute Allegro blocks the application for a whole minute and
# sends no Retry-After (allegro-api.md); without the header the client waits this long.
RATE_LIMIT_BLOCK_SECONDS = 60.0

# Seller data: offer ids asked for in one /sale/offers request (keeps URLs far below any limit).
OFFER_IDS_PER_REQUEST = 100

# Scopes each authorisation asks for (allegro-api.md, "Two kinds of Allegro account").
AGENCY_SCOPE = "allegro:api:ads"
SALES_SCOPE = "allegro:api:sale:offers:read allegro:api:profile:read"

# Tokens.
REFRESH_MARGIN_SECONDS = 600  # refresh an access token this long before it expires
REFRESH_TOKEN_DAYS = 90  # allegro-api.md: "about 3 months (assumed 90 days)"

# Mail (alerts and reports). With no ALLEGRO_ADS_SMTP_HOST nothing is sent.
SmtpSecurity = Literal["none", "starttls", "tls"]
SMTP_SECURITY: Final = "starttls"
# The port each kind of connection listens on when ALLEGRO_ADS_SMTP_PORT is unset.
SMTP_PORTS: Final = {"none": 25, "starttls": 587, "tls": 465}
SMTP_TIMEOUT_SECONDS = 30.0  # connecting, and each command after
WEBHOOK_TIMEOUT_SECONDS = 10.0  # one alert POST
