"""Floor 1 of heartbeat/: the loop and what it runs. beat.py is one heartbeat (`tick(now)`);
runner.py one batch of a running task with its failure policy; redo.py crash recovery's process side
(suspect items redone in a sacrificial child, sacrificial.py); uploads.py and notify.py the attempts
at export deliveries and notifications; space.py the free-space check. It imports no front door."""
