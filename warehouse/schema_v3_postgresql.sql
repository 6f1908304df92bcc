-- The warehouse schema version 3 (postgresql), frozen: the statements that brought an empty or
-- older (version 1 or 2) warehouse to version 3, exactly as version 3 of the code ran them.
-- warehouse/migrations.py runs them on a warehouse older than 3 before its steps; the tests
-- build a version-3 warehouse with them. Never edit: later versions are steps in migrations.py.
CREATE TABLE IF NOT EXISTS warehouse_meta (
    key VARCHAR NOT NULL PRIMARY KEY,
    value VARCHAR NOT NULL
)
;
CREATE TABLE IF NOT EXISTS ad_daily_stats (
    customer_id VARCHAR NOT NULL,
    ads_client_id VARCHAR NOT NULL,
    ad_type VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    ad_group_id VARCHAR NOT NULL,
    ad_id VARCHAR NOT NULL,
    offer_id VARCHAR,
    day DATE NOT NULL,
    views BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    interest BIGINT NOT NULL,
    cost DECIMAL(18,2) NOT NULL,
    attributed_count BIGINT NOT NULL,
    attributed_value DECIMAL(18,2) NOT NULL,
    api_ctr DECIMAL(18,4) NOT NULL,
    api_cpc DECIMAL(18,2) NOT NULL,
    api_roas DECIMAL(18,2) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    fetched_at TIMESTAMP WITH TIME ZONE NOT NULL,
    run_id VARCHAR,
    PRIMARY KEY (customer_id, ad_type, ad_id, day),
    CHECK (ad_type IN ('SPONSORED_OFFER', 'GRAPHIC_AD'))
)
;
CREATE TABLE IF NOT EXISTS campaigns (
    customer_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    ad_type VARCHAR,
    first_seen_day DATE NOT NULL,
    last_seen_day DATE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, campaign_id)
)
;
CREATE TABLE IF NOT EXISTS ad_groups (
    customer_id VARCHAR NOT NULL,
    ad_group_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    first_seen_day DATE NOT NULL,
    last_seen_day DATE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, ad_group_id)
)
;
CREATE TABLE IF NOT EXISTS ads (
    customer_id VARCHAR NOT NULL,
    ad_type VARCHAR NOT NULL,
    ad_id VARCHAR NOT NULL,
    ad_group_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    offer_id VARCHAR,
    name VARCHAR NOT NULL,
    first_seen_day DATE NOT NULL,
    last_seen_day DATE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (customer_id, ad_type, ad_id)
)
;
CREATE TABLE IF NOT EXISTS load_log (
    customer_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    run_id VARCHAR,
    fetched_at TIMESTAMP WITH TIME ZONE NOT NULL,
    rows BIGINT NOT NULL,
    PRIMARY KEY (customer_id, day)
)
;
CREATE TABLE IF NOT EXISTS campaign_day_totals (
    customer_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    currency VARCHAR(3) NOT NULL,
    views BIGINT NOT NULL,
    clicks BIGINT NOT NULL,
    interest BIGINT NOT NULL,
    cost DECIMAL(38,2) NOT NULL,
    attributed_count BIGINT NOT NULL,
    attributed_value DECIMAL(38,2) NOT NULL,
    PRIMARY KEY (customer_id, campaign_id, day)
)
;
DELETE FROM campaign_day_totals
;
INSERT INTO campaign_day_totals (customer_id, campaign_id, day, currency, views, clicks, interest, cost, attributed_count, attributed_value)
SELECT customer_id, campaign_id, day, currency, CAST(COALESCE(SUM(views), 0) AS BIGINT) AS views, CAST(COALESCE(SUM(clicks), 0) AS BIGINT) AS clicks, CAST(COALESCE(SUM(interest), 0) AS BIGINT) AS interest, CAST(COALESCE(SUM(cost), 0) AS DECIMAL(38,2)) AS cost, CAST(COALESCE(SUM(attributed_count), 0) AS BIGINT) AS attributed_count, CAST(COALESCE(SUM(attributed_value), 0) AS DECIMAL(38,2)) AS attributed_value
FROM ad_daily_stats WHERE TRUE
GROUP BY customer_id, campaign_id, day, currency
;
DROP INDEX IF EXISTS ad_daily_stats_customer_day
;
CREATE INDEX IF NOT EXISTS ad_daily_stats_customer_day_report ON ad_daily_stats (customer_id, day) INCLUDE (campaign_id, currency, views, clicks, interest, cost, attributed_count, attributed_value)
;
CREATE INDEX IF NOT EXISTS ad_daily_stats_day ON ad_daily_stats (day)
;
CREATE INDEX IF NOT EXISTS campaign_day_totals_customer_day ON campaign_day_totals (customer_id, day) INCLUDE (campaign_id, currency, views, clicks, interest, cost, attributed_count, attributed_value)
;
CREATE STATISTICS IF NOT EXISTS ad_daily_stats_groups (ndistinct) ON customer_id, campaign_id, currency, day FROM ad_daily_stats
;
DROP VIEW IF EXISTS campaign_daily_stats
;
DROP VIEW IF EXISTS customer_daily_stats
;
CREATE VIEW campaign_daily_stats AS
SELECT t.customer_id, t.campaign_id, c.name AS campaign_name, t.day, t.currency,
       t.views, t.clicks, t.interest, t.cost, t.attributed_count, t.attributed_value,
       CAST(ROUND(CAST(t.clicks AS NUMERIC) / NULLIF(t.views, 0), 4) AS DECIMAL(18,4)) AS ctr, CAST(ROUND(CAST(t.cost AS NUMERIC) / NULLIF(t.clicks, 0), 2) AS DECIMAL(18,2)) AS cpc, CAST(ROUND(CAST(t.attributed_value AS NUMERIC) / NULLIF(t.cost, 0), 2) AS DECIMAL(18,2)) AS roas
FROM (
    SELECT customer_id, campaign_id, day, currency,
           CAST(views AS BIGINT) AS views, CAST(clicks AS BIGINT) AS clicks, CAST(interest AS BIGINT) AS interest, CAST(cost AS DECIMAL(18,2)) AS cost, CAST(attributed_count AS BIGINT) AS attributed_count, CAST(attributed_value AS DECIMAL(18,2)) AS attributed_value
    FROM campaign_day_totals
) AS t
LEFT JOIN campaigns AS c ON c.customer_id = t.customer_id AND c.campaign_id = t.campaign_id
;
CREATE VIEW customer_daily_stats AS
SELECT t.customer_id, t.day, t.currency,
       t.views, t.clicks, t.interest, t.cost, t.attributed_count, t.attributed_value,
       CAST(ROUND(CAST(t.clicks AS NUMERIC) / NULLIF(t.views, 0), 4) AS DECIMAL(18,4)) AS ctr, CAST(ROUND(CAST(t.cost AS NUMERIC) / NULLIF(t.clicks, 0), 2) AS DECIMAL(18,2)) AS cpc, CAST(ROUND(CAST(t.attributed_value AS NUMERIC) / NULLIF(t.cost, 0), 2) AS DECIMAL(18,2)) AS roas
FROM (
    SELECT customer_id, day, currency, CAST(COALESCE(SUM(views), 0) AS BIGINT) AS views, CAST(COALESCE(SUM(clicks), 0) AS BIGINT) AS clicks, CAST(COALESCE(SUM(interest), 0) AS BIGINT) AS interest, CAST(COALESCE(SUM(cost), 0) AS DECIMAL(18,2)) AS cost, CAST(COALESCE(SUM(attributed_count), 0) AS BIGINT) AS attributed_count, CAST(COALESCE(SUM(attributed_value), 0) AS DECIMAL(18,2)) AS attributed_value
    FROM campaign_day_totals
    GROUP BY customer_id, day, currency
) AS t
;
