"""/topic: QI topics through their lifecycle, notes and PDSA (core). The QI method's parts (aims, driver
diagrams, change ideas, cycles, progress) live beside core as their own modules, registered after it in
commands/families.py."""
