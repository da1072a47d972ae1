"""Read a subunit v2 stream on stdin, write each test's outcome as JSON.

Run by the Tempest virtualenv's python (python-subunit and testtools live
there, not in kaon's venv), on the bytes of `stestr last --subunit`.  The
answer is one JSON object: test id -> {"status": ..., "reason": ...,
"traceback": ...}.  Statuses are subunit's: success, fail, skip, xfail,
uxsuccess (and exists/inprogress for tests that never ended).  Class-level
events have ids such as `setUpClass (tempest.api.network.x.SomeTest)`.
"""
import json
import sys

import subunit
import testtools


def _text(details: dict, name: str) -> str:
    content = details.get(name)
    if content is None:
        return ''
    return ''.join(content.iter_text())


def main() -> None:
    results: dict = {}

    def on_test(test: dict) -> None:
        details = test['details']
        results[test['id']] = {
            'status': test['status'],
            'reason': _text(details, 'reason'),
            'traceback': _text(details, 'traceback'),
        }

    stream = subunit.ByteStreamToStreamResult(
        sys.stdin.buffer, non_subunit_name='stdout')
    collector = testtools.StreamToDict(on_test)
    collector.startTestRun()
    try:
        stream.run(collector)
    finally:
        collector.stopTestRun()
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
