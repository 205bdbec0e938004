"""Every write of outputs: the site (writer, manifest, search), its local server, and the email (subscribers, outbox, ledger, SMTP)"""
