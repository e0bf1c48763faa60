#!/usr/bin/env python3
"""Synthetic sample data for the local data space (deploy/localnet.sh, deploy/quickstart.sh).

Writes, into --out:
  bureau_credit_scores.csv   the credit bureau's table   (--rows rows)
  utility_payments.csv       the utility's table         (--rows rows)
  bank_customers.csv         the bank's customer list    (--bank-rows rows)
  manifest.json              the parameters, the files' SHA-256, and what the scenario must find:
                             the intersection sizes and the statistics over the bank's customers
                             found at the bureau (count, sums, means, histogram)

Every person is identified by `person_id` ("P" + 9 digits). A fraction --overlap of the bank's
customers is drawn from the bureau's people and, independently, the same fraction from the
utility's; the rest are people neither provider knows. Output is a pure function of the
arguments: the same arguments give byte-identical files on any machine (Python's own
random.Random with an explicit seed, no hash-ordered iteration, fixed formatting, LF endings).

  generate.py --rows 1000 --seed 42 --out deploy/sample     # the committed sample (defaults)
  generate.py --rows 1000000 --seed 7 --out /tmp/big        # a larger data space
  generate.py --check deploy/sample                          # regenerate from its manifest, compare
  generate.py --sqlite utility_payments.csv utility.db       # a SQLite copy of a generated CSV

Python 3 standard library only.
"""

import argparse
import csv
import hashlib
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
from decimal import ROUND_HALF_EVEN, Decimal

ID_SPACE = 10**9
REGIONS = ["hangzhou", "ningbo", "wenzhou", "shaoxing", "jiaxing", "huzhou", "jinhua", "taizhou"]
SEGMENTS = [("retail", 70), ("sme_owner", 20), ("premier", 10)]
# Histogram of credit_score over the matched rows: (-inf, 580], (580, 670], (670, 740], (740, inf).
SCORE_BOUNDS = [580, 670, 740]

BUREAU_FILE = "bureau_credit_scores.csv"
UTILITY_FILE = "utility_payments.csv"
BANK_FILE = "bank_customers.csv"
MANIFEST_FILE = "manifest.json"

BUREAU_COLUMNS = ["person_id", "credit_score", "default_flag_12m", "inquiries_6m",
                  "open_accounts", "utilization_pct"]
UTILITY_COLUMNS = ["person_id", "region", "months_on_time", "late_payments_12m",
                   "arrears_amount", "account_age_months"]
BANK_COLUMNS = ["person_id", "segment"]


def person_id(n):
    return "P%09d" % n


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def bureau_row(rng, pid):
    score = clamp(int(rng.gauss(680, 75)), 300, 850)
    # Lower scores default more often: about 25% at 450, 1% at 800.
    p_default = clamp(0.25 - (score - 450) * 0.24 / 350, 0.01, 0.4)
    default = 1 if rng.random() < p_default else 0
    inquiries = clamp(int(rng.expovariate(0.6) + (2 if score < 600 else 0)), 0, 20)
    accounts = clamp(int(rng.gauss(4, 2)), 0, 25)
    utilization = clamp(int(rng.gauss(95 - score / 10, 15)), 0, 100)
    return [pid, score, default, inquiries, accounts, utilization]


def utility_row(rng, pid):
    age = rng.randint(1, 180)
    late = clamp(int(rng.expovariate(1.2)), 0, 12)
    on_time = clamp(min(24, age) - late - rng.randint(0, 1), 0, 24)
    arrears = 0 if late == 0 else rng.randint(1, 60) * 1000 * late  # fen
    return [pid, rng.choice(REGIONS), on_time, late, arrears, age]


def bank_row(rng, pid):
    r = rng.randrange(100)
    for segment, weight in SEGMENTS:
        if r < weight:
            return [pid, segment]
        r -= weight
    raise AssertionError("segment weights must sum to 100")


def csv_bytes(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def mean_text(total, count):
    """Exact decimal mean rounded half-even to 6 places, as the gateway reports it."""
    q = Decimal(total) / Decimal(count)
    return str(q.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def generate(rows, bank_rows, overlap, seed):
    """Returns {file name: bytes} for the three tables and the manifest."""
    if rows < 1 or bank_rows < 1:
        raise ValueError("--rows and --bank-rows must be at least 1")
    if not 0.0 <= overlap <= 1.0:
        raise ValueError("--overlap must be within [0, 1]")
    matched = round(overlap * bank_rows)
    if matched > rows:
        raise ValueError("--overlap x --bank-rows (%d) exceeds --rows (%d)" % (matched, rows))
    rng = random.Random(seed)
    # People: `shared` are known to both providers (one province's population), the rest to one
    # provider only; strangers to neither. The bank's customers: k_both known to both providers,
    # matched - k_both to each provider alone, the rest strangers — so each intersection with
    # the bank has exactly `matched` people.
    shared = rows // 2
    k_both = max(matched // 2, 2 * matched - bank_rows)
    if k_both > shared or matched - k_both > rows - shared:
        raise ValueError("--overlap %s of %d bank rows needs more than %d provider rows"
                         % (overlap, bank_rows, rows))
    strangers = bank_rows - 2 * matched + k_both
    ids = [person_id(n) for n in rng.sample(range(ID_SPACE), 2 * rows - shared + strangers)]
    both_ids = ids[:shared]
    bureau_only = ids[shared:rows]
    utility_only = ids[rows:2 * rows - shared]
    stranger_ids = ids[2 * rows - shared:]
    bureau_ids = both_ids + bureau_only
    utility_ids = both_ids + utility_only
    bank_ids = sorted(rng.sample(both_ids, k_both) + rng.sample(bureau_only, matched - k_both) +
                      rng.sample(utility_only, matched - k_both) + stranger_ids)
    assert len(bank_ids) == bank_rows and len(set(bank_ids)) == bank_rows

    bureau = [bureau_row(rng, pid) for pid in sorted(bureau_ids)]
    utility = [utility_row(rng, pid) for pid in sorted(utility_ids)]
    bank = [bank_row(rng, pid) for pid in bank_ids]

    bank_lookup = set(bank_ids)
    at_bureau = [r for r in bureau if r[0] in bank_lookup]
    at_utility = [r for r in utility if r[0] in bank_lookup]
    scores = [r[1] for r in at_bureau]
    buckets = [0] * (len(SCORE_BOUNDS) + 1)
    for s in scores:
        i = 0
        while i < len(SCORE_BOUNDS) and s > SCORE_BOUNDS[i]:
            i += 1
        buckets[i] += 1
    n = len(at_bureau)
    expected = {
        "bank_x_bureau": n,
        "bank_x_utility": len(at_utility),
        # Statistics over the bank's customers found at the bureau.
        "bureau_stats": {
            "count": n,
            "credit_score_sum": str(sum(scores)),
            "credit_score_mean": mean_text(sum(scores), n) if n else None,
            "default_flag_12m_sum": str(sum(r[2] for r in at_bureau)),
            "credit_score_histogram_bounds": [str(b) for b in SCORE_BOUNDS],
            "credit_score_histogram": buckets,
        },
        "utility_stats": {
            "count": len(at_utility),
            "arrears_amount_sum": str(sum(r[4] for r in at_utility)),
        },
    }
    files = {
        BUREAU_FILE: csv_bytes(BUREAU_COLUMNS, bureau),
        UTILITY_FILE: csv_bytes(UTILITY_COLUMNS, utility),
        BANK_FILE: csv_bytes(BANK_COLUMNS, bank),
    }
    manifest = {
        "generator": "deploy/sample/generate.py",
        "parameters": {"rows": rows, "bank_rows": bank_rows, "overlap": overlap, "seed": seed},
        "files": {name: {"rows": len(data.splitlines()) - 1,
                         "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in sorted(files.items())},
        "expected": expected,
    }
    files[MANIFEST_FILE] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def write_files(out, files):
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(files.items()):
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)


def check(directory):
    """Regenerates from DIR/manifest.json's parameters; 0 when every file is byte-identical."""
    with open(os.path.join(directory, MANIFEST_FILE), encoding="utf-8") as f:
        params = json.load(f)["parameters"]
    files = generate(params["rows"], params["bank_rows"], params["overlap"], params["seed"])
    bad = []
    for name, data in sorted(files.items()):
        try:
            with open(os.path.join(directory, name), "rb") as f:
                if f.read() != data:
                    bad.append(name + " differs")
        except FileNotFoundError:
            bad.append(name + " is missing")
    for b in bad:
        print("generate.py --check: %s/%s from %s" % (directory, b, params), file=sys.stderr)
    if not bad:
        print("generate.py --check: %d files in %s match %s" % (len(files), directory, params))
    return 1 if bad else 0


def sql_type(values):
    """INTEGER when every non-empty value is a decimal integer, REAL for numbers, else TEXT."""
    kind = "INTEGER"
    for v in values:
        if v == "":
            continue
        try:
            int(v)
            continue
        except ValueError:
            pass
        try:
            float(v)
            kind = "REAL"
        except ValueError:
            return "TEXT"
    return kind


def to_sqlite(csv_path, db_path, table):
    """Copies CSV_PATH into table TABLE of a new SQLite file DB_PATH (replaced atomically)."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    types = [sql_type([r[i] for r in rows]) for i in range(len(header))]
    conv = {"INTEGER": int, "REAL": float, "TEXT": str}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(db_path)), suffix=".db")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        cols = ", ".join('"%s" %s' % (h, t) for h, t in zip(header, types))
        db.execute('CREATE TABLE "%s" (%s)' % (table, cols))
        db.executemany(
            'INSERT INTO "%s" VALUES (%s)' % (table, ", ".join("?" * len(header))),
            ([None if v == "" else conv[t](v) for v, t in zip(r, types)] for r in rows))
        db.commit()
        db.close()
        os.replace(tmp, db_path)
    except BaseException:
        os.unlink(tmp)
        raise
    print("%s: table %s, %d rows (%s)" % (db_path, table, len(rows),
                                          ", ".join("%s %s" % c for c in zip(header, types))))


def main(argv):
    p = argparse.ArgumentParser(
        description="Deterministic synthetic tables for a TDS data space: a credit bureau, a "
                    "utility and a bank, whose customers overlap the providers' people.")
    p.add_argument("--rows", type=int, default=1000,
                   help="rows of the bureau's and the utility's tables (default 1000)")
    p.add_argument("--bank-rows", type=int, default=None,
                   help="rows of the bank's customer list (default: 2/5 of --rows)")
    p.add_argument("--overlap", type=float, default=0.5,
                   help="fraction of the bank's customers found at each provider (default 0.5)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--out", help="output directory (created if missing)")
    p.add_argument("--check", metavar="DIR",
                   help="regenerate DIR from DIR/manifest.json and compare byte for byte")
    p.add_argument("--sqlite", nargs=2, metavar=("CSV", "DB"),
                   help="copy CSV into a new SQLite database DB (one table, see --table)")
    p.add_argument("--table", help="--sqlite: table name (default: the CSV's base name)")
    args = p.parse_args(argv)
    try:
        if args.check:
            return check(args.check)
        if args.sqlite:
            csv_path, db_path = args.sqlite
            table = args.table or os.path.splitext(os.path.basename(csv_path))[0]
            to_sqlite(csv_path, db_path, table)
            return 0
        if not args.out:
            p.error("--out DIR is required (or --check DIR, or --sqlite CSV DB)")
        bank_rows = args.bank_rows if args.bank_rows is not None else max(1, args.rows * 2 // 5)
        files = generate(args.rows, bank_rows, args.overlap, args.seed)
        write_files(args.out, files)
        exp = json.loads(files[MANIFEST_FILE])["expected"]
        print("%s: bureau %d rows, utility %d rows, bank %d rows; bank x bureau %d, "
              "bank x utility %d" % (args.out, args.rows, args.rows, bank_rows,
                                     exp["bank_x_bureau"], exp["bank_x_utility"]))
        return 0
    except (ValueError, OSError, sqlite3.Error, KeyError, json.JSONDecodeError) as e:
        print("generate.py: error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
