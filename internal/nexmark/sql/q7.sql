-- q7, highest bid per tumbling window of 10 seconds.
WITH windowed AS (
  SELECT *, date_bin('10 seconds', date_time, '1970-01-01') AS window_start FROM bid
), highest AS (
  SELECT window_start, max(price) AS max_price FROM windowed GROUP BY window_start
)
SELECT w.auction, w.bidder, w.price, w.date_time
FROM windowed w JOIN highest h ON w.window_start = h.window_start AND w.price = h.max_price
