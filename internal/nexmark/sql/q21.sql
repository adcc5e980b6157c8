-- q21, add channel id.
SELECT * FROM (
  SELECT auction, bidder, price, channel,
         CASE WHEN lower(channel) = 'apple' THEN '0'
              WHEN lower(channel) = 'google' THEN '1'
              WHEN lower(channel) = 'facebook' THEN '2'
              WHEN lower(channel) = 'baidu' THEN '3'
              ELSE regexp_substr(url, '(&|^)channel_id=([^&]*)', 1, 1, '', 2) END AS channel_id
  FROM bid
) t WHERE channel_id IS NOT NULL
