"""Developer tools for the plugin (not used at run time); see gen_agents.py."""
