using Dmuc.Integration.Tests.Ejabberd;
using Dmuc.Integration.Tests.Muc;
using Dmuc.Xmpp;
using Xunit;

namespace Dmuc.Integration.Tests.Tests;

/// <summary>
/// deploy/ejabberd/mod_dmuc_multicast in a real ejabberd (Debian's 23.01), built from source for the test run. These
/// need ejabberd (CI installs it): without it they fail at start-up instead of skipping, as xunit 2 cannot skip a test
/// a base class declares.
/// </summary>
[Trait("Category", "Ejabberd")]
public class EjabberdMulticastModuleTests : MulticastModuleContract
{
    protected override async Task<XmppHostServer> StartServerAsync() =>
        await EjabberdServer.StartAsync(new EjabberdOptions(Host, MucDomain));

    /// <summary>ejabberd decodes a message's body into a field of its own and writes it after the other children, as for any stanza.</summary>
    protected override bool KeepsChildOrder => false;
}

/// <summary>All of <see cref="EjabberdMulticastModuleTests"/> with the recipients in the module's compact list.</summary>
[Trait("Category", "Ejabberd")]
public sealed class EjabberdCompactMulticastModuleTests : EjabberdMulticastModuleTests
{
    protected override RecipientListForm Form => RecipientListForm.Compact;
}
