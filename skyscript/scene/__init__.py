"""Scene understanding as pure logic: face clustering, camera geometry (DLT), VAD table, highlight curve."""
