-- q5, hot items. Hopping windows of 10 seconds every 2 seconds from
-- the epoch: a bid at t is in the five windows starting at t's 2-second
-- bin and the four before it.
WITH windowed AS (
  SELECT b.auction, ws AS window_start
  FROM bid b, generate_series(date_bin('2 seconds', b.date_time, '1970-01-01') - interval '8 seconds',
                              date_bin('2 seconds', b.date_time, '1970-01-01'), interval '2 seconds') ws
), counts AS (
  SELECT auction, window_start, count(*) AS num FROM windowed GROUP BY auction, window_start
), most AS (
  SELECT window_start, max(num) AS most_bids FROM counts GROUP BY window_start
)
SELECT c.auction, c.num, c.window_start
FROM counts c JOIN most m ON c.window_start = m.window_start AND c.num = m.most_bids
