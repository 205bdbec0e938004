"""digest: daily snapshots of trending research papers, turned into a newsletter"""

__version__ = "0.1.0"
