-- q6, average selling price by seller: ties in closing time are broken
-- by the window's input columns in order, of which id is unique.
WITH winning AS (
  SELECT a.id, a.seller, a.expires AS closed, max(b.price) AS final
  FROM auction a JOIN bid b ON a.id = b.auction
  WHERE b.date_time >= a.date_time AND b.date_time <= a.expires
  GROUP BY a.id, a.seller, a.expires
)
SELECT seller,
       avg(final) OVER (PARTITION BY seller ORDER BY closed, id ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS avg_price,
       closed
FROM winning
