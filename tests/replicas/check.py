"""Checks two replicas of a generated server sharing state in Redis, behind HAProxy (see run)."""

import argparse
import json
import os
import re
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import urllib.error
import urllib.request

HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18",
}
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def call(url, tool, arguments, request_id=1):
    """One tools/call over streamable HTTP (stateless): the result, or raises on transport errors."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}
    # --insecure-no-auth: every caller is `anonymous`; the rate limit is per subject.
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=HEADERS)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["result"]


def text(result):
    return "".join(c.get("text", "") for c in result.get("content", []))


def token_in(result):
    found = re.search(r"mcpc1\.[A-Za-z0-9_.-]+", text(result))
    return found.group(0) if found else None


def audit(logs, replica):
    path = os.path.join(logs, f"audit-{replica}.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    p = argparse.ArgumentParser()
    for name in ["a", "b", "lb", "b-metrics", "logs"]:
        p.add_argument("--" + name, required=True)
    p.add_argument("--secret", action="append", required=True, help="a value no log may hold")
    p.add_argument("--a-pid", type=int, required=True)
    p.add_argument("--redis-pid", type=int, required=True)
    args = p.parse_args()

    # 1. A token redeemed on one replica is refused on the other.
    dry = call(args.a, "delete_pet", {"petId": 1})
    token = token_in(dry)
    check(token is not None, "a dry run on replica a hands out a confirmation token")
    done = call(args.a, "delete_pet", {"petId": 1, "confirmation_token": token})
    # The pet store spec's deletePet answers only 400 or 404, so Prism answers 400: what counts
    # here is that the call went upstream, confirmed (the audit lines are checked below).
    check("DRY RUN" not in text(done) and "HTTP 400" in text(done),
          "replica a runs the confirmed call (sent upstream)")
    replay = call(args.b, "delete_pet", {"petId": 1, "confirmation_token": token})
    check("already used" in text(replay) and "DRY RUN" in text(replay),
          "replica b refuses the token a redeemed (already used)")
    fresh = token_in(call(args.a, "delete_pet", {"petId": 2}))
    crossed = call(args.b, "delete_pet", {"petId": 2, "confirmation_token": fresh})
    check("DRY RUN" not in text(crossed) and "HTTP 400" in text(crossed),
          "replica b accepts a fresh token issued by replica a (one key, one store)")
    for replica in ["a", "b"]:
        confirmed = [l for l in audit(args.logs, replica) if l.get("decision") == "confirmed"]
        check(len(confirmed) == 1, f"replica {replica}'s audit log has one confirmed call")

    # 2. One allowance across both replicas: 30 calls a minute, 6 used above.
    verdicts = []
    for i in range(30):
        replica = args.a if i % 2 == 0 else args.b
        verdicts.append("rate_limited" in text(call(replica, "get_pet", {"pet_id": 1})))
    allowed = verdicts.count(False)
    check(24 <= allowed <= 26 and verdicts[-1],
          f"the caller's 30 calls a minute hold across both replicas ({allowed} of 30 more allowed)")

    # Wait for a fresh allowance before the load (the bucket refills at one call per 2 s).
    time.sleep(61)

    # 3. One replica killed mid-load: every call through HAProxy succeeds, retried if need be.
    def one(i):
        time.sleep(0.05 * i)  # spread over ~1.2 s, so calls are made before and after the kill
        for attempt in range(6):
            try:
                result = call(args.lb, "get_inventory", {}, request_id=i)
                if "rate_limited" in text(result):
                    return ("limited", attempt, time.monotonic())
                kind = "ok" if not result.get("isError") else "error:" + text(result)[:200]
                return (kind, attempt, time.monotonic())
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        return ("lost", 6, time.monotonic())

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(one, i) for i in range(24)]
        time.sleep(0.4)
        os.kill(args.a_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        outcomes = [f.result() for f in futures]
    kinds = [k for k, _, _ in outcomes]
    check(kinds.count("ok") == 24, f"all 24 calls through HAProxy succeed with replica a killed ({kinds})")
    after = sum(1 for _, _, at in outcomes if at > killed_at + 0.05)
    served_by_a = sum(1 for l in audit(args.logs, "a") if l.get("tool") == "get_inventory")
    check(after >= 10 and served_by_a >= 2,
          f"the kill came mid-load: replica a served {served_by_a} calls, {after} ended after it")
    retries = [a for _, a, _ in outcomes]
    print("     retries per call:", retries)
    check(sum(1 for a in retries if a) <= 4,
          "HAProxy, not the client's retries, moved the calls off the killed replica")

    # 4. Redis stopped: confirmed writes fail closed, reads keep working on replica b.
    token = token_in(call(args.b, "delete_pet", {"petId": 3}))
    os.kill(args.redis_pid, signal.SIGKILL)
    time.sleep(0.3)
    refused = call(args.b, "delete_pet", {"petId": 3, "confirmation_token": token})
    check(refused.get("isError") and "state_unavailable" in text(refused),
          "with Redis down, a confirmed write is refused (fail closed)")
    read = call(args.b, "get_pet", {"pet_id": 1})
    check(not read.get("isError"), "with Redis down, a read still works")
    lines = audit(args.logs, "b")
    check(any(l.get("decision") == "denied:state_unavailable" for l in lines),
          "the audit line says denied:state_unavailable")
    with urllib.request.urlopen(args.b_metrics, timeout=5) as answer:
        metrics = answer.read().decode()
    metric_lines = metrics.splitlines()
    check('mcpgen_shared_state_errors_total{operation="redeem"} 1' in metric_lines,
          "mcpgen_shared_state_errors_total counts the failed redemption")
    check(any(l.startswith('mcpgen_shared_state_errors_total{operation="rate_limit"} ') for l in metric_lines),
          "and the rate limits kept by the replica itself")

    # No secret (upstream credentials, the replicas' shared key) in any log.
    for name in os.listdir(args.logs):
        with open(os.path.join(args.logs, name), errors="replace") as f:
            logged = f.read()
        check(not any(secret in logged for secret in args.secret), f"no secret in {name}")

    print(f"\n{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
