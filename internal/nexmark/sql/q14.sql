-- q14, calculation.
SELECT auction, bidder, price::numeric * 0.908 AS price,
       CASE WHEN extract(hour FROM date_time) >= 8 AND extract(hour FROM date_time) <= 18 THEN 'dayTime'
            WHEN extract(hour FROM date_time) <= 6 OR extract(hour FROM date_time) >= 20 THEN 'nightTime'
            ELSE 'otherTime' END AS bid_time_type,
       date_time,
       length(extra) - length(replace(extra, 'c', '')) AS c_counts
FROM bid
WHERE price::numeric * 0.908 > 1000000 AND price::numeric * 0.908 < 50000000
