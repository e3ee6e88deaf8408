# W4-style load: N registrations of one 1 KiB request each through the HTTP API, T keep-alive clients;
# reports end-to-end registrations per second (created, fetched, settled: getIds() empty).
import http.client, json, threading, time
import os, sys
N=int(os.environ.get("N","10000")); T=int(os.environ.get("T","16")); PORT=int(sys.argv[1]); ORIGIN=sys.argv[2]
codes={}
def work(t):
    c=http.client.HTTPConnection("127.0.0.1",PORT)
    for i in range(t, N, T):
        body=json.dumps({"id":f"r{i}","requests":[f"{ORIGIN}k1.bin?i={i}"]})
        c.request("POST","/v1/registrations",body,{"Content-Type":"application/json"})
        r=c.getresponse(); r.read(); codes[r.status]=codes.get(r.status,0)+1
start=time.time()
ts=[threading.Thread(target=work,args=(t,)) for t in range(T)]
[x.start() for x in ts]; [x.join() for x in ts]
created=time.time()
c=http.client.HTTPConnection("127.0.0.1",PORT)
while True:
    c.request("GET","/v1/registrations"); ids=json.loads(c.getresponse().read())["ids"]
    if not ids: break
    time.sleep(0.2)
done=time.time()
print("codes",codes,"create %.1fs"%(created-start),"all settled %.1fs"%(done-start),"-> %.0f registrations/s end to end"%(N/(done-start)))
