// Road graph and routing live here.
