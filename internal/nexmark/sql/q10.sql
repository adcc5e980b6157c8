-- q10, log to file system.
SELECT auction, bidder, price, date_time, to_char(date_time, 'YYYY-MM-DD') AS dt, to_char(date_time, 'HH:MI') AS hm FROM bid
