"""Every write of outputs: the site (writer, manifest, search) and its local server"""
