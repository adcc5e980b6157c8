-- q19, auction top-k: ties broken by the row's columns in order, text
-- in byte order.
SELECT * FROM (
  SELECT *, row_number() OVER (PARTITION BY auction
    ORDER BY price DESC, auction, bidder, price, channel COLLATE "C", url COLLATE "C", date_time, extra COLLATE "C") AS rank_number
  FROM bid
) t WHERE rank_number <= 10
