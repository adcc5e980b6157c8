-- q18, find last bid: ties broken by the row's columns in order, text
-- in byte order.
SELECT auction, bidder, price, channel, url, date_time, extra FROM (
  SELECT *, row_number() OVER (PARTITION BY bidder, auction
    ORDER BY date_time DESC, auction, bidder, price, channel COLLATE "C", url COLLATE "C", date_time, extra COLLATE "C") AS rn
  FROM bid
) t WHERE rn = 1
