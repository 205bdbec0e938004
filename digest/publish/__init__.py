"""Every write of outputs: the site (writer, build state, search), its local server, and the email (subscribers, outbox, ledger, SMTP)"""
