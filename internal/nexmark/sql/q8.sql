-- q8, monitor new users.
WITH joined AS (
  SELECT id, name, date_bin('10 seconds', date_time, '1970-01-01') AS window_start FROM person
), sellers AS (
  SELECT DISTINCT seller, date_bin('10 seconds', date_time, '1970-01-01') AS window_start FROM auction
)
SELECT j.id, j.name, j.window_start AS starttime
FROM joined j JOIN sellers s ON j.id = s.seller AND j.window_start = s.window_start
