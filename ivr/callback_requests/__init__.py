"""Callback requests: the questions a caller is asked, the request stored once per call
(in the database, or else in the spool on disk), and the operations that change it."""
