// Package e2e holds the end-to-end tests of the deployment: the built
// catwalk binary, three instances behind NGINX configured by the
// repository's nginx.conf, on a real PostgreSQL. It has no code of its own.
package e2e
