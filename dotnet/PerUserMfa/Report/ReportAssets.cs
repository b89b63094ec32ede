namespace PerUserMfa.Report
{
    /// <summary>The report's inline style sheet and script (no external resources of any kind).</summary>
    internal static class ReportAssets
    {
        public const string Css = @"
:root{--fg:#1f2933;--muted:#52606d;--line:#d9e2ec;--bg:#f5f7fa;--card:#fff;--dis:#8795a1;--ena:#d97706;--enf:#c2410c;--good:#2f855a;--bad:#c53030;--hl:#fff7e6;--hl2:#ffedd5}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,""Segoe UI"",Roboto,""Helvetica Neue"",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#102a43;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px;font-weight:600}
header .meta{margin:4px 0 0;color:#bcccdc}
header .meta strong{color:#fff}
main{padding:8px 28px 24px;max-width:1600px}
h2{font-size:17px;margin:22px 0 10px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--line);border-radius:6px;padding:10px 14px}
.card .label{color:var(--muted);font-size:12.5px}
.card .value{font-size:24px;font-weight:600}
.card .share{font-size:14px;font-weight:400;color:var(--muted)}
.card .note{font-size:12.5px;color:var(--muted)}
.card.state-disabled{border-left-color:var(--dis)}.card.state-enabled{border-left-color:var(--ena)}.card.state-enforced{border-left-color:var(--enf)}
.card.good{border-left-color:var(--good)}.card.bad{border-left-color:var(--bad)}.card.warn{border-left-color:var(--ena)}
.charts{display:flex;flex-wrap:wrap;gap:16px;margin-top:16px}
.chart{margin:0;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.chart figcaption{font-weight:600;font-size:13px;color:var(--muted)}
.chart-svg{max-width:100%;height:auto}
.chart-svg text{font-size:13px;fill:var(--fg)}
.bar-disabled rect{fill:var(--dis)}.bar-enabled rect{fill:var(--ena)}.bar-enforced rect{fill:var(--enf)}.bar-other rect,.bar-unknown rect{fill:#bcccdc}
.bar-good rect{fill:var(--good)}.bar-bad rect{fill:var(--bad)}.bar-warn rect{fill:var(--ena)}
h3{font-size:15px;margin:18px 0 6px}
table.policies{border-collapse:collapse;background:var(--card);border:1px solid var(--line);font-size:13px;min-width:420px}
table.policies th,table.policies td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.policies th{background:#e4e7eb}
table.policies td.num{text-align:right;font-variant-numeric:tabular-nums}
details.names ul.gaps{columns:auto;margin:2px 0 4px;color:var(--muted)}
details.names.wide ul{columns:auto}
ul.tenant{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 14px 8px 32px;margin:8px 0}
ul.tenant li.bad{color:var(--bad);font-weight:600}
details.names{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 14px;margin:8px 0}
details.names summary{cursor:pointer;font-weight:600}
details.names ul{columns:3 320px;margin:6px 0;padding-left:18px}
details.names li{break-inside:avoid;overflow-wrap:anywhere}
.explain{color:var(--muted);margin:4px 0 8px}
.none,.more{color:var(--muted);font-style:italic}
.notice{background:var(--hl);border:1px solid #f6d5a8;padding:8px 12px;border-radius:6px}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;background:#e4e7eb;color:#323f4b}
.badge.state-enabled{background:#fde7c2;color:#8a4b00}.badge.state-enforced{background:#fed7c3;color:#8c2d04}
.scroll{overflow:auto;max-width:100%}
table.users{border-collapse:collapse;background:var(--card);border:1px solid var(--line);font-size:13px;width:100%}
table.users th,table.users td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
table.users td{max-width:260px;overflow:hidden;text-overflow:ellipsis}
table.users td.bad{color:var(--bad);font-weight:600}
table.users thead{position:sticky;top:0;z-index:1}
table.users thead th{background:#e4e7eb;white-space:normal;vertical-align:bottom;min-width:64px}
table.users thead tr.filters th{background:#eef1f4;padding:3px 4px}
table.users th button{all:unset;cursor:pointer;font-weight:600}
table.users th button:focus-visible{outline:2px solid #2680c2}
table.users th[aria-sort=ascending] button::after{content:"" \25B2""}
table.users th[aria-sort=descending] button::after{content:"" \25BC""}
table.users input{width:100%;min-width:60px;font:inherit;font-size:12px;padding:2px 4px;border:1px solid #cbd2d9;border-radius:3px}
table.users td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.hl{background:var(--hl)}
tr.hl.state-enforced{background:var(--hl2)}
tr.hl td:first-child{box-shadow:inset 4px 0 0 var(--ena)}
tr.hl.state-enforced td:first-child{box-shadow:inset 4px 0 0 var(--enf)}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:10px;margin:8px 0}
.toolbar button,.toolbar select{font:inherit;padding:3px 10px;border:1px solid #9aa5b1;border-radius:4px;background:#fff;cursor:pointer}
.toolbar button:disabled{opacity:.45;cursor:default}
.toolbar .status{color:var(--muted)}
footer{color:var(--muted);font-size:12px;padding:0 28px 24px}
@media print{header{background:none;color:#000}.toolbar,tr.filters{display:none}table.users thead{position:static}}
";

        /// <summary>
        /// Pages, sorts and filters the rows of the report-data JSON. Cells are set with textContent only.
        /// </summary>
        public const string Script = @"
(function(){'use strict';
var src=document.getElementById('report-data'),grid=document.getElementById('grid');
if(!src||!grid||!window.JSON)return;
var data=JSON.parse(src.textContent),cols=data.columns,rows=data.rows,size=data.pageSize||100;
var sc=-1;for(var i=0;i<cols.length;i++)if(cols[i].type==='m')sc=i;
var all=[];for(i=0;i<rows.length;i++)all.push(i);
var view=all,page=0,sortCol=-1,sortDir=1,onlyHl=false,lower=[],timer=0;
function el(t,c,x){var e=document.createElement(t);if(c)e.className=c;if(x!=null)e.textContent=x;return e;}
function txt(v,c){if(v===null||v===undefined)return '';if(c.type==='b')return v?'Yes':'No';return String(v);}
function hl(r){if(sc<0)return '';var s=rows[r][sc];return s==='Enabled'?'hl state-enabled':s==='Enforced'?'hl state-enforced':'state-'+(s==='Disabled'?'disabled':'other');}
function low(c){if(!lower[c]){var a=new Array(rows.length);for(var r=0;r<rows.length;r++)a[r]=txt(rows[r][c],cols[c]).toLowerCase();lower[c]=a;}return lower[c];}
var bar=el('div','toolbar'),first=el('button',null,'\u00ab First'),prev=el('button',null,'\u2039 Previous'),next=el('button',null,'Next \u203a'),last=el('button',null,'Last \u00bb');
var status=el('span','status'),sel=el('select'),hlBox=el('input'),hlLabel=el('label'),clear=el('button',null,'Clear filters');
[first,prev,next,last,clear].forEach(function(b){b.type='button';});
var sizes=[25,100,500,1000];if(sizes.indexOf(size)<0)sizes.push(size);sizes.sort(function(a,b){return a-b;});
sizes.forEach(function(n){var o=el('option',null,n+' per page');o.value=n;if(n===size)o.selected=true;sel.appendChild(o);});
sel.setAttribute('aria-label','Rows per page');
hlBox.type='checkbox';hlLabel.appendChild(hlBox);hlLabel.appendChild(document.createTextNode(' Only Enabled or Enforced'));
[first,prev,status,next,last,sel].forEach(function(x){bar.appendChild(x);});if(sc>=0)bar.appendChild(hlLabel);bar.appendChild(clear);
var wrap=el('div','scroll'),table=el('table','users'),thead=table.createTHead(),hr=thead.insertRow(),fr=thead.insertRow(),tbody=table.createTBody(),inputs=[];
fr.className='filters';
cols.forEach(function(c,i){var th=el('th');th.scope='col';th.setAttribute('aria-sort','none');var b=el('button',null,c.title);b.type='button';b.title='Sort by '+c.title;
b.onclick=function(){if(sortCol===i){sortDir=-sortDir;}else{sortCol=i;sortDir=1;}sort();};th.appendChild(b);hr.appendChild(th);
var fh=el('th'),inp=el('input');inp.type='search';inp.placeholder=c.type==='n'?'>90':'filter';inp.setAttribute('aria-label','Filter '+c.title);inp.oninput=later;fh.appendChild(inp);fr.appendChild(fh);inputs.push(inp);});
wrap.appendChild(table);grid.appendChild(bar);grid.appendChild(wrap);var hint=document.getElementById('grid-hint');if(hint)hint.hidden=false;
function later(){clearTimeout(timer);timer=setTimeout(filter,rows.length>20000?250:80);}
function test(c,q){var a=low(c);if(cols[c].type==='n'){var m=/^(>=|<=|>|<|=)\s*(-?\d+(\.\d+)?)$/.exec(q);if(m){var n=parseFloat(m[2]),op=m[1];
return function(r){var v=rows[r][c];if(v===null)return false;return op==='>'?v>n:op==='<'?v<n:op==='>='?v>=n:op==='<='?v<=n:v===n;};}}
if(cols[c].type==='b'&&(q==='yes'||q==='no'))return function(r){return a[r]===q;};
return function(r){return a[r].indexOf(q)>=0;};}
function filter(){var tests=[];inputs.forEach(function(inp,c){var q=inp.value.trim().toLowerCase();if(q)tests.push(test(c,q));});
onlyHl=hlBox.checked;if(!tests.length&&!onlyHl){view=all.slice();}else{view=[];for(var r=0;r<rows.length;r++){var ok=true;
if(onlyHl){var s=rows[r][sc];ok=s==='Enabled'||s==='Enforced';}for(var t=0;ok&&t<tests.length;t++)ok=tests[t](r);if(ok)view.push(r);}}
page=0;if(sortCol>=0)sort();else draw();}
function sort(){var c=sortCol,d=sortDir,num=cols[c].type==='n'||cols[c].type==='b',a=num?null:low(c);
view.sort(function(x,y){var u=rows[x][c],v=rows[y][c];if(u===null||u===undefined)return (v===null||v===undefined)?x-y:1;if(v===null||v===undefined)return -1;
if(num){u=+u;v=+v;}else{u=a[x];v=a[y];}return u<v?-d:u>v?d:x-y;});
for(var i=0;i<hr.cells.length;i++)hr.cells[i].setAttribute('aria-sort',i===c?(d>0?'ascending':'descending'):'none');draw();}
function draw(){var pages=Math.max(1,Math.ceil(view.length/size));if(page>=pages)page=pages-1;var start=page*size,end=Math.min(view.length,start+size);
var body=document.createElement('tbody');for(var k=start;k<end;k++){var r=view[k],tr=body.insertRow();tr.className=hl(r);
for(var c=0;c<cols.length;c++){var v=rows[r][c],td=tr.insertCell();if(cols[c].type==='m'){var sp=el('span','badge state-'+(v==='Enabled'||v==='Enforced'||v==='Disabled'?v.toLowerCase():'other'),txt(v,cols[c]));td.appendChild(sp);}
else{var t=txt(v,cols[c]);td.textContent=t;if(t.length>36)td.title=t;if(cols[c].type==='n')td.className='num';else if(v===false&&(cols[c].key==='registered'||cols[c].key==='capable'))td.className='bad';}}}
table.replaceChild(body,tbody);tbody=body;
status.textContent=view.length?('Users '+(start+1).toLocaleString()+'\u2013'+end.toLocaleString()+' of '+view.length.toLocaleString()+(view.length<rows.length?' (filtered from '+rows.length.toLocaleString()+')':'')+' \u00b7 page '+(page+1).toLocaleString()+' of '+pages.toLocaleString()):('No users match ('+rows.length.toLocaleString()+' in the report)');
first.disabled=prev.disabled=page===0;next.disabled=last.disabled=page>=pages-1;}
first.onclick=function(){page=0;draw();};prev.onclick=function(){page--;draw();};next.onclick=function(){page++;draw();};
last.onclick=function(){page=Math.ceil(view.length/size)-1;draw();};sel.onchange=function(){size=parseInt(sel.value,10)||100;page=0;draw();};
hlBox.onchange=filter;clear.onclick=function(){inputs.forEach(function(i){i.value='';});hlBox.checked=false;filter();};
draw();})();
";
    }
}
