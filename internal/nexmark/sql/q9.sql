-- q9, winning bids: top's order is total, ties broken by the row's
-- columns in order.
SELECT id, seller, category, bidder, price, bid_time FROM (
  SELECT a.id, a.seller, a.category, b.bidder, b.price, b.date_time AS bid_time,
         row_number() OVER (PARTITION BY a.id ORDER BY b.price DESC, b.date_time, a.seller, a.category, b.bidder) AS rn
  FROM auction a JOIN bid b ON a.id = b.auction
  WHERE b.date_time >= a.date_time AND b.date_time <= a.expires
) t WHERE rn = 1
