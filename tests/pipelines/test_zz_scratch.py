import time
from pipeline_helpers import Agency, days_back

def test_scratch(agency: Agency) -> None:
    start, end = days_back(30)
    t = time.perf_counter()
    r = agency.run(start, end)
    t1 = time.perf_counter()
    for c in agency.customers:
        agency.stored(c, start, end)
    t2 = time.perf_counter()
    for c in agency.customers:
        agency.truth(c, start, end)
    t3 = time.perf_counter()
    print(f"\nRUN {t1-t:.2f} stored {t2-t1:.2f} truth {t3-t2:.2f}")
    evs = agency.instance.all_logs(r.run_id)
    prev = None
    for e in evs:
        ts = e.timestamp
        if prev is not None and ts - prev > 0.3:
            print(f"gap {ts-prev:.2f} before {e.dagster_event_type} {e.user_message[:80]!r}")
        prev = ts
    print("first->last", evs[-1].timestamp - evs[0].timestamp, len(evs))
