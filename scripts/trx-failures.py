#!/usr/bin/env python3
"""Prints the failed tests of every .trx file under the given directories: name, outcome, message, the top of the
stack and the tail of the test's output. scripts/test.sh runs it last, so a CI log cut to its tail still names what
failed and why."""
import glob
import os
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}


def tail(text, lines):
    parts = (text or "").rstrip().splitlines()
    return parts[-lines:]


def main(directories):
    failed = 0
    counted = 0
    for directory in directories:
        for path in sorted(glob.glob(os.path.join(directory, "**", "*.trx"), recursive=True)):
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as error:
                print(f"trx-failures: {path}: {error}")
                continue
            for result in root.iterfind(".//t:UnitTestResult", NS):
                counted += 1
                if result.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
                    continue
                failed += 1
                print(f"--- FAILED: {result.get('testName')} ({result.get('duration')}, {os.path.basename(path)})")
                message = result.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=NS)
                stack = result.findtext("t:Output/t:ErrorInfo/t:StackTrace", default="", namespaces=NS)
                output = result.findtext("t:Output/t:StdOut", default="", namespaces=NS)
                for line in (message or "").strip().splitlines()[:60]:
                    print(f"  {line}")
                for line in (stack or "").strip().splitlines()[:12]:
                    print(f"  {line}")
                if output:
                    print("  output (tail):")
                    for line in tail(output, 40):
                        print(f"    {line}")
    print(f"trx-failures: {failed} failed of {counted} test results in {', '.join(directories)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["."])
