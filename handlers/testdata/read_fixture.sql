-- Hand-written data for the GET /reviews and GET /reviews/meta contract
-- tests. Dates are epoch milliseconds, as in the CSV exports.
--
-- Product 1: every rule of the list orders and of meta.
--   ids 1..3 share one date (tie-break id DESC); 4 and 5 share helpfulness;
--   6 is reported (never listed, never counted); 7 has an empty response.
-- Product 2: only reported reviews; characteristics without values.
-- Product 3: characteristics only.
INSERT INTO reviews (id, product_id, rating, date, summary, body, recommend, reported, reviewer_name, reviewer_email, response, helpfulness) VALUES
 (1, 1, 5, to_timestamp(1596080481467 / 1000.0), 'This product was great!', 'I really did or did not like this product based on whether it was sustainably sourced.', true, false, 'funtime', 'first.last@gmail.com', NULL, 8),
 (2, 1, 4, to_timestamp(1596080481467 / 1000.0), 'Tom & Jerry <b>bold</b>', E'Line one\nline "two" \\ tab\there \u0001 done — naïve café 🙂 \u2028.', false, false, 'amy<script>', 'a@b.c', 'Thanks & welcome <3', 8),
 (3, 1, 3, to_timestamp(1596080481467 / 1000.0), '', 'Short body', true, false, 'bob', 'b@b.c', NULL, 0),
 (4, 1, 2, to_timestamp(1610000000000 / 1000.0), 'Newer', 'Body four', false, false, 'carl', 'c@c.c', NULL, 3),
 (5, 1, 2, to_timestamp(1600000000001 / 1000.0), 'Older', 'Body five', true, false, 'dana', 'd@d.c', NULL, 3),
 (6, 1, 1, to_timestamp(1620000000000 / 1000.0), 'Reported', 'Reported body', false, true, 'eve', 'e@e.c', NULL, 100),
 (7, 1, 5, to_timestamp(1500000000999 / 1000.0), 'Old but loved', 'Body seven', true, false, 'finn', 'f@f.c', '', 30),
 (8, 2, 4, to_timestamp(1590000000000 / 1000.0), 'Hidden', 'Hidden body', true, true, 'gus', 'g@g.c', NULL, 1);

INSERT INTO reviews_photos (id, review_id, url) VALUES
 (12, 2, 'https://images.example/b.jpg?w=1&h=2'),
 (11, 2, 'https://images.example/a.jpg'),
 (13, 7, 'https://images.example/"quoted".jpg');

INSERT INTO characteristics (id, product_id, name) VALUES
 (21, 1, 'Fit'),
 (22, 1, 'Length'),
 (23, 1, 'Fit'),
 (24, 1, 'Comfort'),
 (25, 2, 'Quality'),
 (26, 3, 'Size');

INSERT INTO characteristic_reviews (id, characteristic_id, review_id, value) VALUES
 (31, 21, 1, 5), (32, 21, 2, 4), (33, 21, 3, 4), (34, 21, 6, 1),
 (35, 22, 1, 1), (36, 22, 2, 2), (37, 22, 3, 2), (38, 22, 4, 2), (39, 22, 5, 2), (40, 22, 7, 2),
 (41, 23, 1, 5),
 (42, 25, 8, 3);
