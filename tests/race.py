"""Races for concurrency tests: every call starts at the same moment, each on its own thread (and so on its
own database connection)."""

import threading


def race(calls) -> list:
    """The answers of ``calls`` (zero-argument callables), in their order, after all ran at once."""
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index, call):
        start.wait()
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers
