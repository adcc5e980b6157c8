-- q1, currency conversion.
SELECT auction, bidder, price::numeric * 0.908 AS price, date_time, extra FROM bid
