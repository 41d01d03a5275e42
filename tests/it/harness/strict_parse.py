#!/usr/bin/python3
"""Parses each mail named on the command line with Python's email package
under policy=strict (every defect raises), walks every part, and checks
the headers mail clients and loop filters rely on. Prints one line per
problem; exits 1 if there is any."""
import email
import email.policy
import sys

problems = []
for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.strict)
        for part in msg.walk():
            if part.defects:
                problems.append(f"{path}: defects {part.defects}")
            if not part.is_multipart():
                part.get_content()
        for header in ("Date", "Message-ID", "From", "To", "Subject", "Auto-Submitted"):
            if msg[header] is None:
                problems.append(f"{path}: no {header} header")
        kinds = [p.get_content_type() for p in msg.walk()]
        if "text/html" in kinds and "text/plain" not in kinds:
            problems.append(f"{path}: an HTML part without a plain-text part")
        for name, value in msg.items():
            if "\r" in str(value) or "\n" in str(value):
                problems.append(f"{path}: header {name} holds a line break")
    except Exception as e:  # the strict policy raises on any defect
        problems.append(f"{path}: {type(e).__name__}: {e}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
