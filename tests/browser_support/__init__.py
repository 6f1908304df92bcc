"""What the browser tests share: axe-core (from the npm registry, pinned by this folder's
``package-lock.json``, installed on first use) and how a page is checked with it."""
