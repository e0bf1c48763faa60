-- Confidential SQL of the quickstart (deploy/quickstart.sh): the bank's customers whom both the
-- credit bureau and the utility know, by the bureau's score band — customers, the bank's own
-- defaults, the bureau's 12-month default flags, and the utility's arrears. It runs only inside
-- the attested enclave on the bank's node; each provider's contract approves exactly these
-- bytes (terms.enclave.sql_sha256 = sha256sum of this file) and k = 20 customers per band.
SELECT CASE WHEN c.credit_score <= 670 THEN 'le670' ELSE 'gt670' END AS score_band,
       COUNT(*) AS customers,
       SUM(b.defaulted) AS bank_defaults,
       SUM(c.default_flag_12m) AS bureau_defaults,
       SUM(CASE WHEN u.arrears_amount > 0 THEN 1 ELSE 0 END) AS in_arrears,
       SUM(u.arrears_amount) AS arrears_fen
FROM bank b
JOIN bureau c ON c.person_id = b.person_id
JOIN utility u ON u.person_id = b.person_id
GROUP BY score_band
ORDER BY score_band;
