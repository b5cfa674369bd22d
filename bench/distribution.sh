# Shared by the benchmarks (sourced, bash): the built distribution, unpacked into a folder of its own, with
# the demo off and every port Karaf listens on chosen free, so that runs never collide with each other.
#   free_port                     prints a free loopback port
#   distribution_unpack DIR       builds the distribution (offline, no tests), unpacks it into DIR; sets K
#   distribution_booted           succeeds once Karaf has installed its boot features (its BootFinished
#                                 service is there): until then the features service resolves and starts
#                                 bundles beside whatever a benchmark measures

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

distribution_unpack() {
  mvn -B -o -q package -DskipTests -DobrRepository=NONE -pl karaf-assembly -am
  tar xzf karaf-assembly/target/uplink-karaf-*.tar.gz -C "$1"
  K=$(echo "$1"/uplink-karaf-*)
  # the demo's mail server listens on fixed ports; Karaf's ssh, http and RMI ports are fixed too: none may collide
  rm -f "$K"/etc/io.uplink.connection-demo.cfg "$K"/etc/io.uplink.sender-demo.cfg "$K"/etc/io.uplink.collector-demo.cfg
  sed -i 's/^enabled *=.*/enabled = false/' "$K"/etc/io.uplink.demo.cfg
  sed -i "s/^sshPort *=.*/sshPort = $(free_port)/" "$K"/etc/org.apache.karaf.shell.cfg
  sed -i "s/^org.osgi.service.http.port *=.*/org.osgi.service.http.port = $(free_port)/" "$K"/etc/org.ops4j.pax.web.cfg
  sed -i -e "s/^rmiRegistryPort *=.*/rmiRegistryPort = $(free_port)/" -e "s/^rmiServerPort *=.*/rmiServerPort = $(free_port)/" \
    "$K"/etc/org.apache.karaf.management.cfg
}

distribution_booted() {
  "$K"/bin/uplink "service:list org.apache.karaf.features.BootFinished" </dev/null 2>/dev/null | grep -q BootFinished
}
