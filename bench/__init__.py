"""Load benchmarks of the portal: `python -m bench.registration` (run by `make bench`).

Each scenario runs against a throw-away PostgreSQL database seeded at a realistic size and a
real gunicorn server, driven by `wrk`; results are printed as a Markdown table and written to
`bench/results/` (gitignored).
"""
