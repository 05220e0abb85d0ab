using Microsoft.Extensions.Hosting;
using Dmuc.Host;

using var node = DmucNode.Build(args);
await node.RunAsync();
