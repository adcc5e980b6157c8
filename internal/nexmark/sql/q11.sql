-- q11, user sessions: a bid 10 seconds or more after the bidder's
-- previous one starts a session; the running count of starts (over
-- peers too, so equal times share one) numbers the sessions.
WITH starts AS (
  SELECT bidder, date_time,
         CASE WHEN date_time - lag(date_time) OVER (PARTITION BY bidder ORDER BY date_time) < interval '10 seconds' THEN 0 ELSE 1 END AS start
  FROM bid
), sessions AS (
  SELECT bidder, date_time, sum(start) OVER (PARTITION BY bidder ORDER BY date_time) AS session FROM starts
)
SELECT bidder, min(date_time) AS window_start, max(date_time) + interval '10 seconds' AS window_end, count(*) AS bid_count
FROM sessions GROUP BY bidder, session
