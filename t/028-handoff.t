# Python predictions handed to a sibling worker process (#11): a process
# whose interpreter is busy sends a prediction to one whose interpreter is
# idle, over its unix socket, and relays the answer exactly; the request
# is counted once, its client's address and request id go with it.
use FindBin;
use lib $FindBin::Bin;
use TorchServeTest;
use Test::Nginx::Socket;

master_on();
workers(2);
worker_connections(1024);
repeat_each(1);
plan tests => repeat_each() * (3 + 8 * 6 + 4 + 4 + 5 + 5);

no_shuffle();
no_root_location();

our $Iso = fixture('iso_input.json');

add_block_defaults(
    # an IPv6 listener (ipv6only: beside the test's IPv4 one, same port)
    http_config  => models_config("whoami whoami.mar",
                                  "py_status py_status.mar")
                    . "    server {\n"
                    . "        listen [::1]:\$TEST_NGINX_SERVER_PORT;\n"
                    . "        location / { allow ::1; deny all;\n"
                    . "            add_header X-Nginx-Pid \$pid always;\n"
                    . "            torchserve_inference; }\n"
                    . "    }\n",
    config       => "location = /fan.html { ssi on; }\n"
                    . "    location = /keepalive.txt { }\n"
                    . post_location("/warm", "/predictions/whoami", "0.3")
                    . post_location("/short", "/predictions/whoami", "0")
                    . "    location /metrics { torchserve_metrics; }\n"
                    . "    location /models { torchserve_management; }\n"
                    # the sibling sees the client's address, not its socket
                    . "    location / { allow 127.0.0.1; deny all;\n"
                    . "                 add_header X-Nginx-Pid \$pid always;\n"
                    . "                 torchserve_inference; }\n",
    no_error_log => "[error]");

run_tests();

__DATA__

=== TEST 1: while one process runs a 4 s prediction, every later one is answered by the other
A background request keeps one process's interpreter busy for 4 s; the
page waits for a 0.3 s prediction (the background one is running by
then), then asks for six more, one after the other, each on a connection
of its own (to either process).  One that lands in the busy process is
handed to the other: all six carry the other process's pid.  Without
handing over, those wait for the busy process and carry its pid.  The
metrics then count the 7 answered predictions once each (the process
that handed one over does not count it).
--- init
main::wait_ready(2, "whoami", "py_status");
main::requests_in_background([0, "POST /predictions/whoami HTTP/1.0\r\nContent-Length: 1\r\n\r\n4"]);
--- user_files eval
">>> fan.html\n"
. '<!--# include virtual="/warm" wait="yes" -->'
. ('<!--# include virtual="/short" wait="yes" -->' x 6)
. '<!--# include virtual="/metrics?name[]=ts_inference_requests_total" wait="yes" -->'
--- request
GET /fan.html
--- response_body_like: (?m)\Apid \d+\npid (\d+)\n(?:pid \1\n){5}(?s:.*)^ts_inference_requests_total\{model_name="whoami",model_version="default",hostname="[^"]+",\} 7\.0$



=== TEST 2: a handed-over answer keeps the handler's status, reason, type and headers
While a background request keeps one process busy, eight predictions of
a handler that sets its own status line, content type and headers (one
the request id it was given): those that land in the busy process are
answered through its sibling, the same answer, the same request id.
--- init
main::wait_ready(2, "whoami", "py_status");
main::requests_in_background([0, "POST /predictions/whoami HTTP/1.0\r\nContent-Length: 3\r\n\r\n1.5"]);
--- request eval
[("POST /predictions/py_status\n$::Iso") x 8]
--- error_code eval
[(599) x 8]
--- response_headers eval
[("Content-Type: text/plain\nX-Custom-Header: yes") x 8]
--- raw_response_headers_like eval
[(qr/\AHTTP\/1\.1 599 Custom Status\r\n(?=(?s:.*)\r\nX-Handler-Request-Id: ([^\r]+)\r\n)(?s:.*)\r\nx-request-id: \1\r\n/) x 8]
--- response_body eval
[(main::python_expected("py_status", "body")) x 8]



=== TEST 3: 60 predictions at once while nginx reloads twice
Processes hand predictions to each other while new ones start and old
ones finish: every prediction is answered.
--- init
main::wait_ready(2, "whoami", "py_status");
--- request eval
main::reload_while_serving(qr{POST /predictions/whoami}, 2, 0.3);
"GET /fan.html"
--- user_files eval
">>> fan.html\n" . ('<!--# include virtual="/short" -->' x 60)
--- timeout: 60
--- response_body_like: \A(?:pid \d+\n){60}\z
--- error_log
reconfiguring



=== TEST 4: a keepalive connection moves to the process that answered its handed-over prediction
While a background request keeps one process busy for 3 s, a client
keeps one connection open to it (the other process answers its first
prediction, handed over); it sends three more predictions on that
connection, and the process holding the connection is then the one that
answers: the connection moved there after the first answer, and its
predictions no longer cross between processes.  Without moving, the busy
process would still hold it (and hand each one over).
--- init
main::wait_ready(2, "whoami", "py_status");
main::requests_in_background([0, "POST /predictions/whoami HTTP/1.0\r\nContent-Length: 1\r\n\r\n3"]);
main::keepalive_dialogue("keepalive.txt", 3, 0.5);
--- request
GET /keepalive.txt
--- response_body_like: \Aheld (\d+) answered (?!\1)(\d+)\n(?:held \2 answered \2\n){3}\z
--- error_log
moved here from worker process



=== TEST 5: what is not a sibling's connection is refused on the socket for moved connections
A process of the same user sends each worker process a datagram without
a socket and one that carries a pipe: both are refused with a log line
(the pipe closed), and predictions are answered as before.
--- init
main::wait_ready(2, "whoami", "py_status");
main::stray_connections();
--- request
POST /predictions/whoami
0
--- response_body_like: \Apid \d+\n\z
--- error_log
a message without a connection on the socket for moved connections
is closed: no such client or listening socket



=== TEST 6: over an IPv6 listener, a prediction is handed over and its keepalive connection moves
As TEST 4, with the client on [::1]: the sibling serves the handed-over
prediction in the IPv6 server (whose allow ::1 sees the client's
address, not the unix socket), and the connection moves to it.
--- init
main::wait_ready(2, "whoami", "py_status");
main::requests_in_background([0, "POST /predictions/whoami HTTP/1.0\r\nContent-Length: 1\r\n\r\n3"]);
main::keepalive_dialogue("keepalive.txt", 3, 0.5, "::1");
--- request
GET /keepalive.txt
--- response_body_like: \Aheld (\d+) answered (?!\1)(\d+)\n(?:held \2 answered \2\n){3}\z
--- error_log eval
[qr/a prediction handed over by a sibling worker process\b.*, client: ::1,/,
 qr/keepalive connection from ::1 moved here from worker process/]
