# nginx and Apache httpd modules (issue 5): filled in by their module.
