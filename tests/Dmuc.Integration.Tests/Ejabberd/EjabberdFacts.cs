using Xunit;

namespace Dmuc.Integration.Tests.Ejabberd;

/// <summary>A test that needs Debian's ejabberd: it runs where ejabberd is installed (CI installs it) and is skipped, saying why, elsewhere.</summary>
public sealed class EjabberdFactAttribute : FactAttribute
{
    public EjabberdFactAttribute()
    {
        if (!EjabberdServer.IsInstalled) Skip = EjabberdServer.NotInstalledReason;
    }
}

/// <inheritdoc cref="EjabberdFactAttribute"/>
public sealed class EjabberdTheoryAttribute : TheoryAttribute
{
    public EjabberdTheoryAttribute()
    {
        if (!EjabberdServer.IsInstalled) Skip = EjabberdServer.NotInstalledReason;
    }
}
