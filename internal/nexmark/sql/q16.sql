-- q16, channel statistics per day.
SELECT channel, to_char(date_time, 'YYYY-MM-DD') AS day,
       max(to_char(date_time, 'HH:MI') COLLATE "C") AS minute,
       count(*) AS total_bids,
       count(*) FILTER (WHERE price < 10000) AS rank1_bids,
       count(DISTINCT bidder) AS total_bidders,
       count(DISTINCT auction) AS total_auctions
FROM bid GROUP BY 1, 2
