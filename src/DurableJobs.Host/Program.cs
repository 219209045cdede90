// Placeholder entry point; the CLI replaces it.
return 0;
