"""Mails every file uploaded to the inbox bucket to a fixed list of recipients."""
