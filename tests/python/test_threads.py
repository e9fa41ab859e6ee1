"""Python threads run requests concurrently through one Model: the GIL is released while the model runs, and
concurrent results equal sequential ones."""
import threading

import numpy as np

from conftest import sst2_inputs


def test_gil_is_released_while_the_model_runs(kiln, sst2):
    # A pure-Python thread counts while the main thread is inside one long call. Were the GIL held for the
    # call, the counter could not move until it returned (it is not a timing test: no duration is asserted).
    x = sst2_inputs(64, 64, seed=9)  # 16 calls of batch 4 in one request
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        while counter[0] == 0:
            pass
        before = counter[0]
        sst2(**x)
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    assert during > 1000, during


def test_two_threads_overlap_and_agree_with_sequential_calls(kiln, sst2_path):
    with kiln.load(sst2_path, max_batch_delay_us=2000) as m:
        requests = [sst2_inputs(3, 40, seed=s) for s in range(8)]
        sequential = [m(**r) for r in requests]
        inside = [0]
        peak = [0]
        lock = threading.Lock()
        results = [None] * len(requests)
        barrier = threading.Barrier(2)

        def worker(first):
            barrier.wait()
            for i in range(first, len(requests), 2):
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                results[i] = m(**requests[i])
                with lock:
                    inside[0] -= 1

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for got, want in zip(results, sequential):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        # Both threads were inside a call at once at some point (each call blocks with the GIL released).
        stats = m.stats()
        assert stats["completed"] == 16 and stats["failed"] == 0
        assert peak[0] == 2
